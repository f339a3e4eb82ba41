package echosession_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/labstack/echo/v4"
	"github.com/sessionguard/sessionguard/adapters/echosession"
	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store/memstore"
)

func Example() {
	st := memstore.New(memstore.Options{})
	defer st.Close()
	sessions, err := session.New(st, session.Config{
		ErrorHandler: echosession.ErrorHandler,
		OnEvent:      func(session.Event) {}, // keep the example's output quiet
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	e := echo.New()
	e.Use(echosession.Middleware(sessions))
	e.POST("/login", func(c echo.Context) error {
		// ... check the password ...
		if err := session.From(c.Request()).Login("alice"); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/")
	})
	e.GET("/", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"user": session.From(c.Request()).UserID()})
	})

	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest("POST", "/login", nil))
	cookie := w.Result().Cookies()[0]
	fmt.Println(w.Code, cookie.Name)

	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(cookie)
	w = httptest.NewRecorder()
	e.ServeHTTP(w, req)
	fmt.Print(w.Code, " ", w.Body)
	// Output:
	// 303 __Host-sid
	// 200 {"user":"alice"}
}
