"""What a page and a report both draw: Plotly chart builders, Folium map builders and display tables, pure
functions on Polars frames with no Streamlit (pages show them through junheng/views, reports put them in decks)."""
