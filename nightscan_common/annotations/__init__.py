"""Annotation and detection tables (Raven, BirdNET, Audacity, Kaleidoscope, plain CSV) read into events."""
