"""Training tests run one torch thread: on a shared machine, several OpenMP threads per process
spin against each other and make the tiny CPU trainings many times slower."""

import torch

torch.set_num_threads(1)
