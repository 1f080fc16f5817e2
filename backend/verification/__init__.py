"""Checks of a child's documents against government data (户籍, 不动产登记, 居住证, 出生证明)."""
