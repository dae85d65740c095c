"""Where configuration input comes from: the JSONC file and the bootstrap environment."""
