"""What a recurrent network is: cells, the generic runner, engines and layers.

Imports torch and numpy only, and nothing of lstmkit above it."""
