"""The Streamlit glue the pages share: caches and the session's picture, model and block with their
link parameters (``common``), the Lesson's rooms (``lesson_room``) and the wake-ups of their
followers (``room_wake``). ``pages/`` holds only the pages ``app.py`` registers; all logic lives in
``senet_viz``, which knows nothing of Streamlit."""
