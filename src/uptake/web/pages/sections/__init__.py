"""The sections of the innovation and organisation pages, one module per family of results. Each returns the
entries it adds to the page's context (a figure, its table, and how it was calculated), or none when the
workspace has no results of its family."""
