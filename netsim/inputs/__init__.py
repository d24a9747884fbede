"""Reading files nobody has to trust (scenarios, profiles, traces): bounded, strict, and
failing only with errors that say what is wrong and where."""
