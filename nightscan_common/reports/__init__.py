"""What the steps report: the tables for people that the front ends print."""
