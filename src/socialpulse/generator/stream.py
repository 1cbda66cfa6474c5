"""Assembling the stream chunk by chunk: posts, interactions and truth lines.

Randomness is drawn in vectorised chunks from seeded ``numpy.random.Generator`` streams (one
per concern, so adding a draw to one stream does not shift the others); a plain Python loop
then assembles each line from the drawn numbers. State that outlives a chunk is bounded: a ring
of recent posts per topic (for replies, retweets and interactions) and a ring of recent valid
posts (for re-deliveries), so memory does not grow with the number of posts.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from socialpulse.domain.columns import POSTS_DIR, SCHEMA_VERSION, Col
from socialpulse.domain.records import DEFAULT_INTERACTION_WEIGHTS, InteractionKind
from socialpulse.generator import vocabulary as V
from socialpulse.generator.config import LABELS, GenerationCounts, GeneratorConfig
from socialpulse.generator.config import iso as _iso
from socialpulse.generator.malformed import (
    INTERACTION_BREAKERS,
    POST_BREAKERS,
    POST_KINDS_KEEPING_ID,
)
from socialpulse.generator.population import Population
from socialpulse.generator.rings import (
    I64,
    Rings,
    TimeAxis,
    WrittenPost,
    base62,
    iso_array,
    json_or_null,
    post_appeal,
    weighted_slots,
)
from socialpulse.generator.writer import RollingWriter

TWEPOCH_MS: Final = 1_288_834_974_657
"""X's snowflake epoch: post ids are (ms since this) << 22 | worker << 12 | sequence."""
STRENGTHS: Final = ("none", "mild", "strong")
ORIGINAL, RETWEET, DUPLICATE, MALFORMED = "original", "retweet", "duplicate", "malformed"

_KINDS: Final = tuple(k.value for k in InteractionKind)
_KIND_SHARES: Final = (0.70, 0.12, 0.12, 0.06)  # like, retweet, reply, quote
_WEIGHTS: Final = tuple(repr(float(DEFAULT_INTERACTION_WEIGHTS[k])) for k in InteractionKind)
_PHRASES: Final = (
    (V.NEGATIVE_MILD, V.NEGATIVE_STRONG),
    (V.NEUTRAL, V.NEUTRAL),
    (V.POSITIVE_MILD, V.POSITIVE_STRONG),
)
_EMOJIS: Final = (V.EMOJI_NEGATIVE, V.EMOJI_NEUTRAL, V.EMOJI_POSITIVE)


class PostStream:
    """Carries the state between chunks: rings, the last post id, the writers."""

    def __init__(
        self,
        config: GeneratorConfig,
        pop: Population,
        post_rng: np.random.Generator,
        inter_rng: np.random.Generator,
        bad_rng: np.random.Generator,
        posts_w: RollingWriter,
        inter_w: RollingWriter,
        truth_w: RollingWriter,
    ) -> None:
        self.cfg = config
        self.pop = pop
        self.rng = post_rng
        self.irng = inter_rng
        self.brng = bad_rng
        self.posts_w = posts_w
        self.inter_w = inter_w
        self.truth_w = truth_w
        self.axis = TimeAxis(config.start, config.end)
        self.rings = Rings(config.topics, config.ring_size, config.appeal_exponent)
        self.last_id = 0
        self.activity_cum = pop.activity_cum
        self.pref_cum = pop.pref_cum
        self.disp_cum = np.cumsum(pop.disposition, axis=1)
        self.bad_kinds = tuple(POST_BREAKERS)
        self.bad_inter_kinds = tuple(INTERACTION_BREAKERS)
        self.tags = [list(t.hashtags) for t in pop.topics]
        self._topic_names = [t.name for t in pop.topics]
        self._lines: list[str] = []
        self._truth: list[str] = []

    # -- posts --------------------------------------------------------------------------------

    def _authors(self, u: npt.NDArray[np.float64]) -> I64:
        idx = np.searchsorted(self.activity_cum, u * self.activity_cum[-1], side="right")
        out: I64 = np.minimum(idx, self.pop.size - 1).astype(np.int64)
        return out

    def _topics_of(self, users: I64, u: npt.NDArray[np.float64]) -> I64:
        cum = self.pref_cum[users]
        j = (cum < (u * cum[:, -1])[:, None]).sum(axis=1)
        j = np.minimum(j, cum.shape[1] - 1)
        out: I64 = self.pop.pref_topics[users, j]
        return out

    def chunk(self, start: int, n: int, counts: GenerationCounts) -> None:
        """Write post lines ``start .. start+n-1`` and the interactions that follow them."""
        cfg, r, pop = self.cfg, self.rng, self.pop
        total = cfg.posts
        ar = np.arange(n, dtype=np.int64)
        q = (start + ar + r.random(n)) / total
        ms = self.axis.at(q)
        sec = (ms // 1000).astype(np.int64)
        raw_id = (((sec * 1000 + r.integers(0, 1000, n)) - TWEPOCH_MS) << 22) | (
            r.integers(0, 1024, n) << 12
        )
        ids = np.maximum.accumulate(np.maximum(raw_id - ar, self.last_id + 1)) + ar
        self.last_id = int(ids[-1])
        ingest_sec = sec + r.integers(1, 31, n)

        cat_u = r.random(n).tolist()
        authors = self._authors(r.random(n))
        topics = self._topics_of(authors, r.random(n))
        drift = r.random(n) < 0.05  # now and then a user posts off their interests
        topics = np.where(drift, r.integers(0, cfg.topics, n), topics)
        disp = self.disp_cum[authors]
        labels = np.minimum((disp < r.random(n)[:, None]).sum(axis=1), 2)
        strong = r.random(n) < 0.45
        strength = np.where(labels == 1, 0, np.where(strong, 2, 1))
        log_likes = np.clip(r.normal(pop.popularity[authors], 1.2), -5, 11)
        likes = np.maximum(np.expm1(log_likes), 0).astype(np.int64)
        n_emoji = np.where(
            labels == 1,
            r.random(n) < 0.15,
            np.where(strength == 2, 1 + (r.random(n) < 0.5), r.random(n) < 0.4),
        ).astype(np.int64)
        cols = {
            "id": [str(i) for i in ids.tolist()],
            "sec": sec.tolist(),
            "created": iso_array(sec),
            "ingest_sec": ingest_sec.tolist(),
            "ingested": iso_array(ingest_sec),
            "author": authors.tolist(),
            "topic": topics.tolist(),
            "label": labels.tolist(),
            "strength": strength.tolist(),
            "likes": likes.tolist(),
            "rts": r.binomial(likes, 0.12).tolist(),
            "replies": r.binomial(likes, 0.06).tolist(),
            "quotes": r.binomial(likes, 0.02).tolist(),
            "tmpl": r.random(n).tolist(),
            "noun": r.random(n).tolist(),
            "noun2": r.random(n).tolist(),
            "intens": r.integers(0, len(V.INTENSIFIERS), n).tolist(),
            "cap": (r.random(n) < 0.7).tolist(),
            "ctx": (r.random(n) < 0.3).tolist(),
            "ctx_i": r.random(n).tolist(),
            "ntags": r.choice(4, size=n, p=[0.1, 0.5, 0.3, 0.1]).tolist(),
            "tag_u": r.random((n, 3)).tolist(),
            "off": (r.random(n) < 0.08).tolist(),
            "off_topic": r.integers(0, cfg.topics, n).tolist(),
            "n_emoji": n_emoji.tolist(),
            "emoji_u": r.random((n, 2)).tolist(),
            "url": (r.random(n) < 0.18).tolist(),
            "url_token": r.integers(0, 62**10, n, dtype=np.int64).tolist(),
            "mention": (r.random(n) < 0.12).tolist(),
            "mention_user": self._authors(r.random(n)).tolist(),
            "kind_u": r.random(n).tolist(),
            "pick_u": r.random(n).tolist(),
            "dup_likes": r.integers(1, 60, n).tolist(),
            "dup_delay": r.integers(60, 6 * 3600, n).tolist(),
            "bad_kind": r.integers(0, len(self.bad_kinds), n).tolist(),
        }
        m = cfg.malformed_rate
        d = m + cfg.duplicate_rate
        rt = d + cfg.retweet_rate
        for i in range(n):
            u = cat_u[i]
            # A duplicate or retweet needs an earlier post; before there is one, write an original.
            if u < m:
                self._malformed(cols, i, counts)
            elif not (
                (u < d and self._duplicate(cols, i, counts))
                or (d <= u < rt and self._retweet(cols, i, counts))
            ):
                self._original(cols, i, counts)
        counts.post_lines += n
        self._flush_chunk()
        self._interactions(int(sec[-1]), n, counts)

    def _text(self, c: dict[str, list[Any]], i: int) -> str:
        topic, label, strength = c["topic"][i], c["label"][i], c["strength"][i]
        nouns = self.pop.topics[topic].nouns
        phrases = _PHRASES[label][1 if strength == 2 else 0]
        phrase = phrases[int(c["tmpl"][i] * len(phrases))].format(
            n=nouns[int(c["noun"][i] * len(nouns))], i=V.INTENSIFIERS[c["intens"][i]]
        )
        if c["cap"][i]:
            phrase = phrase[0].upper() + phrase[1:]
        if c["ctx"][i] and phrase[-1] not in "!?":
            phrase += "."
        parts = [phrase]
        if c["mention"][i]:
            parts.insert(0, "@" + self.pop.handles[c["mention_user"][i]])
        if c["ctx"][i]:
            ctx = V.CONTEXT[int(c["ctx_i"][i] * len(V.CONTEXT))]
            parts.append(ctx.format(n=nouns[int(c["noun2"][i] * len(nouns))]))
        emojis = _EMOJIS[label]
        for k in range(c["n_emoji"][i]):
            parts.append(emojis[int(c["emoji_u"][i][k] * len(emojis))])
        tags = self.tags[topic]
        tag_u = c["tag_u"][i]
        for k in range(c["ntags"][i]):
            parts.append("#" + tags[int(tag_u[k] * len(tags))])
        if c["off"][i]:  # a stray hashtag of another topic: noise for the recommender
            other = self.tags[c["off_topic"][i]]
            parts.append("#" + other[int(tag_u[2] * len(other))])
        if c["url"][i]:
            parts.append("https://t.co/" + base62(c["url_token"][i]))
        return " ".join(parts)

    def _new_post(self, c: dict[str, list[Any]], i: int, text: str) -> WrittenPost:
        a = c["author"][i]
        return WrittenPost(
            post_id=c["id"][i],
            author_id=self.pop.ids[a],
            handle=self.pop.handles[a],
            text=text,
            created=c["created"][i],
            created_sec=c["sec"][i],
            reply_to=None,
            quote_of=None,
            retweet_of=None,
            likes=c["likes"][i],
            retweets=c["rts"][i],
            replies=c["replies"][i],
            quotes=c["quotes"][i],
            ingested_sec=c["ingest_sec"][i],
            ingested=c["ingested"][i],
            topic=c["topic"][i],
            label=c["label"][i],
            strength=c["strength"][i],
        )

    def _emit(
        self, line: str, post_id: str | None, category: str, bad: str | None, post: WrittenPost
    ) -> None:
        self._lines.append(line)
        # The truth line, less its locator (known once the chunk's lines are placed in files).
        self._truth.append(
            f'"post_id":{json_or_null(post_id)},"category":"{category}","malformed_kind":{json_or_null(bad)},'
            f'"topic":"{self._topic_names[post.topic]}","label":"{LABELS[post.label]}",'
            f'"strength":"{STRENGTHS[post.strength]}",'
            f'"appeal":{post_appeal(post.likes, self.cfg.appeal_exponent):.6g}}}'
        )

    def _flush_chunk(self) -> None:
        located = self.posts_w.extend(self._lines)
        self.truth_w.extend(
            [
                f'{{"file":"{POSTS_DIR}/{file}","line":{n},{rest}'
                for (file, n), rest in zip(located, self._truth, strict=True)
            ]
        )
        self._lines.clear()
        self._truth.clear()

    def _original(self, c: dict[str, list[Any]], i: int, counts: GenerationCounts) -> None:
        post = self._new_post(c, i, self._text(c, i))
        kind_u = c["kind_u"][i]
        if kind_u < self.cfg.reply_share + self.cfg.quote_share:
            target = self.rings.pick_topical(post.topic, c["pick_u"][i])
            if target is not None and kind_u < self.cfg.reply_share:
                post.text = f"@{target.handle} {post.text}"
                post.reply_to = target.post_id
                counts.replies += 1
            elif target is not None:
                post.text = f"{post.text} https://x.com/{target.handle}/status/{target.post_id}"
                post.quote_of = target.post_id
                counts.quotes += 1
        self._emit(post.line(), post.post_id, ORIGINAL, None, post)
        self.rings.add_topical(post)
        self.rings.add_recent(post)
        counts.originals += 1
        counts.valid_unique_posts += 1
        counts.labels[LABELS[post.label]] += 1

    def _retweet(self, c: dict[str, list[Any]], i: int, counts: GenerationCounts) -> bool:
        target = self.rings.pick_topical(c["topic"][i], c["pick_u"][i])
        if target is None:
            return False
        post = self._new_post(c, i, f"RT @{target.handle}: {target.text}")
        # A retweet carries the original's meaning; its own public metrics stay at zero.
        post.retweet_of = target.post_id
        post.likes = post.retweets = post.replies = post.quotes = 0
        post.topic, post.label, post.strength = target.topic, target.label, target.strength
        self._emit(post.line(), post.post_id, RETWEET, None, post)
        self.rings.add_recent(post)
        counts.retweets += 1
        counts.valid_unique_posts += 1
        counts.labels[LABELS[post.label]] += 1
        return True

    def _duplicate(self, c: dict[str, list[Any]], i: int, counts: GenerationCounts) -> bool:
        picked = self.rings.pick_recent(c["pick_u"][i])
        if picked is None:
            return False
        slot, first = picked
        # A re-delivery: same post, later snapshot (more likes, ingested later than any copy).
        ingested_sec = max(first.ingested_sec, c["sec"][i]) + c["dup_delay"][i]
        again = replace(
            first,
            likes=first.likes + c["dup_likes"][i],
            retweets=first.retweets + (c["dup_likes"][i] // 8),
            ingested_sec=ingested_sec,
            ingested=_iso(ingested_sec),
        )
        self._emit(again.line(), again.post_id, DUPLICATE, None, again)
        self.rings.recent[slot] = again  # the next re-delivery is later still
        counts.duplicates += 1
        return True

    def _malformed(self, c: dict[str, list[Any]], i: int, counts: GenerationCounts) -> None:
        # Built like an original, with a fresh id that no valid post uses, then broken.
        post = self._new_post(c, i, self._text(c, i))
        kind = self.bad_kinds[c["bad_kind"][i]]
        line = POST_BREAKERS[kind](post.record(), self.brng)
        keeps_id = kind in POST_KINDS_KEEPING_ID
        self._emit(line, post.post_id if keeps_id else None, MALFORMED, kind, post)
        counts.malformed += 1
        counts.malformed_by_kind[kind] += 1

    # -- interactions -------------------------------------------------------------------------

    def _interactions(self, now_sec: int, n_posts: int, counts: GenerationCounts) -> None:
        """Interactions made after this chunk's posts, on recent posts of preferred topics."""
        cfg, r = self.cfg, self.irng
        k = int(r.poisson(cfg.interactions_per_post * n_posts))
        fill, ring_ids, ring_created = self.rings.arrays()
        nonempty = np.flatnonzero(fill > 0)
        if k == 0 or nonempty.size == 0:
            return
        users = np.minimum(
            np.searchsorted(self.pop.interact_cum, r.random(k) * self.pop.interact_cum[-1]),
            self.pop.size - 1,
        ).astype(np.int64)
        topics = self._topics_of(users, r.random(k))
        noise = r.random(k) < cfg.interaction_noise
        topics = np.where(noise, r.integers(0, cfg.topics, k), topics)
        # A topic with no post yet cannot be engaged with: take a random topic that has one.
        fallback = nonempty[r.integers(0, nonempty.size, k)]
        topics = np.where(fill[topics] > 0, topics, fallback)
        # Within the topic, a post is picked in proportion to its appeal (its likes).
        slots = np.minimum(
            weighted_slots(np.cumsum(self.rings.appeal, axis=1)[topics], r.random(k)),
            fill[topics] - 1,
        )
        post_ids = ring_ids[topics, slots]
        created = ring_created[topics, slots]
        delay = np.minimum(r.exponential(1800.0, k), 3 * 86400).astype(np.int64)
        ts = np.maximum(created, now_sec) + 1 + delay  # always after the post was created
        kinds = np.searchsorted(np.cumsum(_KIND_SHARES), r.random(k) * sum(_KIND_SHARES))
        kinds = np.minimum(kinds, len(_KINDS) - 1)
        has_weight = (r.random(k) < 0.7).tolist()
        bad = (r.random(k) < cfg.interaction_malformed_rate).tolist()
        bad_kind = r.integers(0, len(self.bad_inter_kinds), k).tolist()
        ts_s = iso_array(ts)
        uid = [self.pop.ids[u] for u in users.tolist()]
        pid = post_ids.tolist()
        kl = kinds.tolist()
        lines: list[str] = []
        for j in range(k):
            kind = kl[j]
            if bad[j]:
                rec: dict[str, Any] = {
                    Col.SCHEMA_VERSION: SCHEMA_VERSION,
                    Col.USER_ID: uid[j],
                    Col.POST_ID: str(pid[j]),
                    Col.KIND: _KINDS[kind],
                    Col.TS: ts_s[j],
                    Col.WEIGHT: float(_WEIGHTS[kind]),
                }
                name = self.bad_inter_kinds[bad_kind[j]]
                lines.append(INTERACTION_BREAKERS[name](rec, self.brng))
                counts.interactions_malformed_by_kind[name] += 1
                continue
            weight = f',"{Col.WEIGHT}":{_WEIGHTS[kind]}' if has_weight[j] else ""
            lines.append(
                f'{{"{Col.SCHEMA_VERSION}":{SCHEMA_VERSION},"{Col.USER_ID}":"{uid[j]}",'
                f'"{Col.POST_ID}":"{pid[j]}","{Col.KIND}":"{_KINDS[kind]}",'
                f'"{Col.TS}":"{ts_s[j]}"{weight}}}'
            )
        self.inter_w.extend(lines)
        n_bad = sum(bad)
        counts.interactions_malformed += n_bad
        counts.interactions_valid += k - n_bad
        counts.interaction_lines += k
