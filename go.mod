module github.com/cordage/cordage

go 1.26
