package bench

import "errors"

var (
	ErrBadConfig = errors.New("bench: bad configuration")
	ErrNoMedia   = errors.New("bench: no media arrived")
)
