"""Training stages of the ECHO method (CPT, RAD, DCD) and site fine-tuning, on accelerate."""
