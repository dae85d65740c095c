"""Contract tests every EventLog adapter must pass; each adapter module supplies a harness."""
