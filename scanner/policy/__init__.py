"""Policy tiers: profiles as data, licence and registry tables, attestations and verdicts."""
