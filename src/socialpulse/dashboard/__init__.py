"""The Streamlit dashboard: pages that read the REST API (and nothing else) through ``client``."""
