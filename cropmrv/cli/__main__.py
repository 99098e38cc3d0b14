from cropmrv.cli.main import main

main()
