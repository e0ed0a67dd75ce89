"""Lint rules over a loaded manifest: reference resolution and the promises a notice must keep."""

from privet.manifest.lint.registry import Finding, LintContext, Rule, builtin_rules, lint

__all__ = ["Finding", "LintContext", "Rule", "builtin_rules", "lint"]
