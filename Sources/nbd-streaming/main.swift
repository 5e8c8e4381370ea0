import StreamingCLI

StreamingMain.run()
