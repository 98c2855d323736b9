"""Junheng (均衡): county compulsory-education balance analytics."""
