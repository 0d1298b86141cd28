"""Training the GAN with Lightning: the Trainer, its callbacks and checkpoint I/O."""
