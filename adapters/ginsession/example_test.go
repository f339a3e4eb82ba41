package ginsession_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gin-gonic/gin"
	"github.com/sessionguard/sessionguard/adapters/ginsession"
	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store/memstore"
)

func Example() {
	gin.SetMode(gin.ReleaseMode)
	st := memstore.New(memstore.Options{})
	defer st.Close()
	sessions, err := session.New(st, session.Config{
		ErrorHandler: ginsession.ErrorHandler(nil),
		OnEvent:      func(session.Event) {}, // keep the example's output quiet
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	r := gin.New()
	r.Use(ginsession.Middleware(sessions))
	r.POST("/login", func(c *gin.Context) {
		// ... check the password ...
		if err := session.From(c.Request).Login("alice"); err != nil {
			_ = c.AbortWithError(http.StatusInternalServerError, err)
			return
		}
		c.Redirect(http.StatusSeeOther, "/")
	})
	r.GET("/", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"user": session.From(c.Request).UserID()})
	})

	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("POST", "/login", nil))
	cookie := w.Result().Cookies()[0]
	fmt.Println(w.Code, cookie.Name)

	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(cookie)
	w = httptest.NewRecorder()
	r.ServeHTTP(w, req)
	fmt.Println(w.Code, w.Body)
	// Output:
	// 303 __Host-sid
	// 200 {"user":"alice"}
}
