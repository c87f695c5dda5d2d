"""`python -m training STAGE --config FILE [key=value ...]`: run a stage (the form for accelerate launch)."""

import sys

from training.cli import main

sys.exit(main())
