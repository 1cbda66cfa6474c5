"""Key management over HTTP for holders of the ``admin`` scope."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, status

from socialpulse.api.auth import Scope, make_key
from socialpulse.api.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyList, ApiKeyRead, ProblemRead
from socialpulse.storage.base import KeyStore

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ProblemRead, "description": "No active key with this id."}
}


def build_router(store: KeyStore) -> APIRouter:
    """Routes under ``/v1/admin``."""
    router = APIRouter(prefix="/v1/admin", tags=["admin"])

    @router.get("/keys", response_model=ApiKeyList)
    def list_keys() -> ApiKeyList:
        """Every API key, revoked ones included (secrets are never stored)."""
        return ApiKeyList(items=[ApiKeyRead.model_validate(r) for r in store.api_keys()])

    @router.post("/keys", response_model=ApiKeyCreated, status_code=status.HTTP_201_CREATED)
    def create_key(body: ApiKeyCreate) -> ApiKeyCreated:
        """Make a key; the response holds its secret, which cannot be shown again."""
        new = make_key(body.name, [Scope(s) for s in body.scopes])
        store.add_api_key(new.row)
        return ApiKeyCreated.model_validate({**new.row, "api_key": new.secret_key})

    @router.delete("/keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_NOT_FOUND)
    def revoke_key(
        key_id: Annotated[str, Path(min_length=1, max_length=32, examples=["3fa9c01b77d2"])],
    ) -> None:
        """Revoke a key (callers may be admitted for up to ``api_key_cache_seconds`` more)."""
        if not store.revoke_api_key(key_id, datetime.now(UTC)):
            raise HTTPException(404, f"no active API key {key_id!r}")

    return router
