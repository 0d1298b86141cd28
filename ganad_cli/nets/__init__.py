"""Plain nn.Modules: generators, discriminators/critics and encoders per backbone."""
