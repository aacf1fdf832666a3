"""The registry's HTTP side: the app factory, blueprints (views/), request parsing
(parsing/), authentication, the store handle, metrics and configuration. The domain stays
at ``registry/``'s root, the repository under ``registry/store/``."""
