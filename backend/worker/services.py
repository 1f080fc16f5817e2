"""Dead-letter administration: see why queued messages kept failing, and replay them."""

from __future__ import annotations

import logging
import re
from typing import Any

from backend.core.errors import ApiError
from backend.core.jobs import GROUP, STREAMS, dead_letter_key, stream_key
from backend.core.redis import redis_store

logger = logging.getLogger(__name__)


def dead_letters() -> list[dict[str, str]]:
    """Messages that kept failing, on every stream, oldest first."""
    client: Any = redis_store.client
    items = []
    for stream in STREAMS:
        for message_id, fields in client.xrange(dead_letter_key(stream)):
            items.append({
                "id": message_id.decode(), "stream": stream,
                "type": fields.get(b"type", b"").decode(),
                "reason": fields.get(b"reason", b"").decode(),
                "failed_at": fields.get(b"failed_at", b"").decode(),
                "original_id": fields.get(b"original_id", b"").decode(),
            })
    return items


def replay_dead_letter(stream: str, message_id: str) -> str:
    """Put a dead-lettered message back on its stream (after the cause was fixed)."""
    if stream not in STREAMS or not re.fullmatch(r"\d{1,19}-\d{1,19}", message_id):
        raise ApiError(404, "DEAD_LETTER_NOT_FOUND", "未找到该失败消息")
    client: Any = redis_store.client
    found = client.xrange(dead_letter_key(stream), min=message_id, max=message_id)
    if not found:
        raise ApiError(404, "DEAD_LETTER_NOT_FOUND", "未找到该失败消息")
    fields = {k.decode(): v for k, v in found[0][1].items()
              if k not in (b"reason", b"failed_at", b"original_id")}
    with client.pipeline() as pipe:
        pipe.xadd(stream_key(stream), fields)
        pipe.xdel(dead_letter_key(stream), message_id)
        new_id, _deleted = pipe.execute()
    logger.info("dead letter replayed stream=%s message_id=%s group=%s", stream, message_id,
                GROUP)
    return str(new_id.decode() if isinstance(new_id, bytes) else new_id)
