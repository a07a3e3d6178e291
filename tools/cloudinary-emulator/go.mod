module tenflix/tools/cloudinary-emulator

go 1.26
