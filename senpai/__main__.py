from senpai.cli import main

raise SystemExit(main())
