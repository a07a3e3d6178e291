module tenflix/tools/midtrans-emulator

go 1.26

require github.com/midtrans/midtrans-go v1.3.8
