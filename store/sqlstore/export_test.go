package sqlstore

import "context"

// QueryString runs a one-value query on the writer (reader false) or a
// reader connection, for tests that check connection settings and the
// migration table.
func (s *Store) QueryString(ctx context.Context, reader bool, q string) (string, error) {
	db := s.w
	if reader {
		db = s.r
	}
	var v string
	err := db.QueryRowContext(ctx, q).Scan(&v)
	return v, err
}
