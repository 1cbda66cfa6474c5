"""Getting raw records durably to processing: the landing folder and Kafka (producer, lander)."""
