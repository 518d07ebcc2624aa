"""Datasets, torch training and evaluation of AI players; built by issue 8."""
