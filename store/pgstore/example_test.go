package pgstore_test

import (
	"context"
	"log"
	"net/http"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store/pgstore"
)

// An application that already has a pgxpool hands it to the store, creates
// the table once (or runs pgstore.Schema in its migrations), and gives the
// store to the session manager.
func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	st := pgstore.New(pool, pgstore.Options{})
	defer st.Close()
	if err := st.CreateTable(ctx); err != nil {
		log.Fatal(err)
	}
	sessions, err := session.New(st, session.Config{})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	log.Fatal(http.ListenAndServeTLS(":8443", "cert.pem", "key.pem", sessions.Handler(mux)))
}
