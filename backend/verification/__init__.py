"""Checks of a child's documents against government data (不动产登记, 户籍, 居住证, 出生医学证明)."""
