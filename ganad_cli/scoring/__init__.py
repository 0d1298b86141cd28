"""Score components, their combination and the threshold tau. Higher score = more anomalous."""
