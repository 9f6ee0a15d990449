package store

// MigrationVersions exposes the embedded migrations' versions to the external tests.
func MigrationVersions(dialect string) ([]int, error) {
	ms, err := loadMigrations(dialect)
	if err != nil {
		return nil, err
	}
	out := make([]int, len(ms))
	for i, m := range ms {
		out[i] = m.version
	}
	return out, nil
}
