"""Documents generated from the manifest: notice, ROPA, US disclosures, data-flow graph, diff, request metrics."""
