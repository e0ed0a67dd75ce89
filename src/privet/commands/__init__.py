"""Command groups of the privet command line (an adapter: they open workspaces and print, they decide nothing)."""
