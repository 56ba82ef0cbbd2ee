package ui

// SetTestVerifier makes handlers created afterwards serve b as VerifierFile.
func SetTestVerifier(b []byte) { testVerifier = b }
