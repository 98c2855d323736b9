"""Files a user takes away: exports (and later decks and workbooks)."""
