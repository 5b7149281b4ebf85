"""litellm fork kit: a pinned LiteLLM release, a patch series on top, a patched wheel."""
