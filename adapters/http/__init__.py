"""The Management API (D24 in docs/decisions.md): a JSON HTTP service in front of the store.

``create_app(service)`` builds the Litestar application; ``serve`` runs it on uvicorn. Modules
have one job each: tokens (who may call), errors (one error shape), guards (scopes), limits
(reveal rate), metrics, health, and one module of routes per resource.
"""
