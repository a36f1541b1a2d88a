"""On-disk layouts of step 3's output and the files they share (labels.json)."""
