"""riskline's command line: thin commands that build objects and call one library function each."""
