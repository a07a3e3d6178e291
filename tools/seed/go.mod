module tenflix/tools/seed

go 1.26
