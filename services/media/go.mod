module tenflix/services/media

go 1.26

require (
	github.com/gin-gonic/gin v1.12.0
	github.com/google/uuid v1.6.0
	github.com/jackc/pgx/v5 v5.12.0
	tenflix/platform v0.0.0
	tenflix/proto v0.0.0
)

replace (
	tenflix/platform => ../../platform
	tenflix/proto => ../../proto
)
