"""The UI's only way to the data: HTTP calls to the FlowLens REST API."""

from __future__ import annotations

import httpx


class ApiError(Exception):
    def __init__(self, status: int, detail) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


class Api:
    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base = base_url.rstrip("/") + "/api"
        self.client = httpx.Client(timeout=timeout)

    def request(self, method: str, path: str, **kwargs):
        response = self.client.request(method, self.base + path, **kwargs)
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail")
            except ValueError:
                detail = response.text
            raise ApiError(response.status_code, detail)
        return response.json()

    def get(self, path: str, **params):
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, json=None):
        return self.request("POST", path, json=json)

    def post_file(self, path: str, filename: str, content: bytes, data: dict):
        """POST multipart form data with one file field named ``file``."""
        return self.request("POST", path, files={"file": (filename, content)}, data=data)
