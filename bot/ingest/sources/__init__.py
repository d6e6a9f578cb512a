"""Source readers: feeds, article pages and local files, each turned into `RawItem`s."""
