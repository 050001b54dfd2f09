"""`python -m hbaezoo ...` (and `torchrun -m hbaezoo run ...`)."""

from hbaezoo.cli import main

raise SystemExit(main())
