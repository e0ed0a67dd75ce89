"""Word lists for the free-text detectors: common given names across locales, and street words.

The given names are a small, hand-written sample of frequent names in English-, German-, French-, Spanish-,
Italian-, Dutch-, Polish-, Portuguese- and Turkish-speaking countries and of common South Asian, East Asian and
Arabic romanisations. It is deliberately short: it finds the common case cheaply and misses rare names, which is
the price of running without a model. Names that are also everyday English words ("Will", "May", "Grace") are
kept apart so that a detector can ask for more evidence before trusting them.
"""

from __future__ import annotations

_GIVEN_NAMES = """
Aaron Abigail Adam Adrian Aidan Alan Albert Alec Alex Alexander Alexandra Alexis Alice Alicia Alison Allison Amanda
Amelia Amy Andrea Andrew Angela Anita Ann Anna Anne Annie Anthony Antonio Arthur Ashley Audrey Austin Barbara Ben
Benjamin Bernard Beth Betty Beverly Billy Blake Bobby Bonnie Brad Bradley Brandon Brenda Brett Brian Brittany Bruce
Bryan Caleb Calvin Cameron Carl Carla Carlos Carol Caroline Carolyn Carrie Catherine Charles Charlotte Chelsea
Cheryl Chloe Chris Christian Christina Christine Christopher Cindy Claire Colin Connor Courtney Craig Crystal
Cynthia Dale Dan Daniel Danielle Danny David Dean Deborah Debra Denise Dennis Derek Diana Diane Donald Donna Doris
Dorothy Douglas Dylan Earl Edward Elaine Eleanor Elijah Elizabeth Ella Ellen Emily Emma Eric Erica Erin Ethan
Eugene Evan Evelyn Gabriel Gail Gary George Gerald Gloria Gordon Grant Gregory Hailey Hannah Harold Harry Heather
Helen Henry Holly Howard Ian Isaac Isabel Isabella Jack Jackson Jacob Jacqueline James Jamie Jane Janet Janice Jared
Jason Jeffrey Jennifer Jeremy Jerry Jesse Jessica Jill Jimmy Joan Joanne Joe Joel John Johnny Jonathan Jordan Jose
Joseph Joshua Joyce Juan Judith Judy Julia Julie Justin Karen Katherine Kathleen Kathryn Kathy Katie Katy Kayla
Keith Kelly Kenneth Kevin Kimberly Kristen Kristin Kristine Kyle Larry Laura Lauren Lawrence Leah Lee Leonard Leslie
Liam Linda Lisa Logan Lori Lorraine Louis Lucas Lucy Luke Lynn Madison Marcus Margaret Maria Marie Marilyn Mario
Martha Martin Mary Mason Matthew Megan Melanie Melissa Michael Michelle Mike Mildred Molly Monica Nancy Natalie Nathan
Nicholas Nicole Noah Norma Oliver Olivia Oscar Pamela Patricia Patrick Paul Paula Peter Philip Phillip Rachel Ralph
Randy Raymond Rebecca Regina Richard Rick Robert Robin Roger Ronald Roy Russell Ruth Ryan Samantha Samuel Sandra Sara
Sarah Scott Sean Sharon Shaun Shawn Sheila Shirley Sophia Sophie Stacy Stephanie Stephen Steve Steven Susan Tammy
Tanya Taylor Teresa Terry Theresa Thomas Tiffany Timothy Tina Todd Tony Tracy Travis Tyler Valerie Vanessa Victor
Victoria Vincent Virginia Walter Wayne Wendy William Willie Zachary Zoe
Abbie Ashleigh Bethany Bradley Clive Dominic Duncan Eileen Elliot Frances Gavin Gemma Geoffrey Gerard Glenn Hayley
Irene Jasmine Jeffery Joanna Josephine Julian Kerry Kirsty Leigh Lorna Malcolm Marian Marjorie Maureen Melvin
Miriam Naomi Neil Norman Pauline Philippa Rachael Rebekah Reginald Ruben Russell Sally Sam Samantha Shannon
Sheila Sidney Simon Stanley Terence Toby Vera Vernon Wilfred Yvette
Alfie Archie Callum Ciaran Darren Declan Eilidh Finlay Fiona Freya Gareth Graham Hamish Imogen Isla Jessie Kirsty
Leanne Lewis Lindsay Lindsey Mairead Niamh Nigel Owen Poppy Rhys Rory Sian Stuart Trevor
Achim Agnes Andreas Anke Annegret Annegrete Annelie Anton Axel Bärbel Bernd Bernhard Birgit Brigitte Britta Carsten
Claudia Cornelia Detlef Dieter Dietmar Dirk Doris Elke Elfriede Emil Erich Erika Ernst Esther Falk Felix Florian
Frank Franz Frieda Friedrich Fritz Gabriele Gerd Gerda Gerhard Gertrud Gisela Gisbert Gudrun Günter Günther Hanna
Hannelore Hans Harald Heike Heinrich Heinz Helga Helmut Herbert Hermann Hildegard Holger Horst Ilse Ingeborg Ingrid
Irmgard Jan Jannik Jens Joachim Johann Johanna Jonas Jörg Jürgen Karin Karl Karsten Katharina Katja Katrin Klaus
Konrad Kurt Lars Lena Leon Lothar Luise Lukas Maik Manfred Manuela Marco Marianne Marion Markus Marlene Martina
Matthias Maximilian Mia Michaela Monika Nadine Niklas Nils Norbert Otto Petra Rainer Ralf Regina Reinhard Reinhold
Renate Rita Roland Rolf Rosemarie Rudolf Sabine Sandra Sebastian Siegfried Silke Simone Stefan Steffen Susanne Sven
Sybille Thorsten Tim Tobias Torsten Udo Ulrich Ulrike Ursula Ute Uwe Volker Waltraud Werner Wilhelm Wolfgang Yvonne
Alfred Angelika Anja Benno Burkhard Christa Dagmar Edeltraud Eckhard Erwin Friedhelm Georg Gottfried Hartmut Hedwig
Hilde Ingo Irene Jutta Karola Karolina Kathrin Kerstin Klara Lieselotte Margarete Marlies Mathias Nicole Oskar Reiner
Rüdiger Sigrid Sonja Tanja Theodor Traute Vanessa Wiebke Wilfried Willi
Adèle Agathe Alain Alexandre Alexandrie Alphonse Amélie André Anaïs Antoine Arnaud Aurélie Auguste Baptiste Benoît
Bernadette Bertrand Brigitte Camille Capucine Céline Chantal Charles Christelle Christophe Claude Clément Colette
Corinne Danielle Delphine Denis Didier Dominique Édouard Éléonore Élise Élodie Émile Émilie Éric Étienne Fabien
Fabrice Florence Françoise François Frédéric Gabrielle Gaston Geneviève Georges Gérard Gilbert Gilles Guillaume
Guy Hélène Henri Hervé Hugues Inès Isabelle Jacqueline Jacques Jean Jeanne Jérôme Joséphine Julien Juliette Laetitia
Laurence Laurent Léa Léon Léonie Louise Luc Lucie Madeleine Manon Marc Marcel Margaux Margot Marguerite Marianne
Marine Martine Mathieu Mathilde Maurice Michel Michèle Monique Nathalie Nicolas Noémi Noémie Océane Olivier Pascal
Pascale Patrice Pénélope Philippe Pierre Raymond Rémy René Roger Sandrine Simone Stéphane Stéphanie Suzanne Sylvie
Théo Théophile Thibault Thierry Valentin Valérie Véronique Vincent Virginie Xavier Yves Zoé
Alejandro Ana Andrés Beatriz Carmen Diego Dolores Elena Enrique Fernando Francisco Gonzalo Guadalupe Isabel Javier
Jesús Jorge Josefa Lucía Luis Manuel Marta Miguel Pablo Pedro Pilar Rafael Ramón Raúl Rosa Santiago Sergio Sofía
Alessandro Alessia Andrea Chiara Davide Federica Francesca Giorgio Giovanni Giulia Giuseppe Lorenzo Luca Luciano
Marco Matteo Paolo Roberto Salvatore Silvia Simona Stefano Valentina
Bram Daan Femke Joost Lotte Maarten Pieter Sanne Sem Thijs Wouter
Agnieszka Anna Barbara Jakub Kamil Katarzyna Krzysztof Magdalena Małgorzata Marcin Michał Piotr Tomasz Wojciech
Ahmet Ayşe Elif Emre Fatma Mehmet Mustafa Zeynep Ahmed Ali Fatima Hassan Hussein Karim Layla Mohammed Muhammad
Omar Yusuf Aarav Aditya Amit Ananya Anil Arjun Deepak Kavya Priya Rahul Raj Rajesh Ravi Rohan Sanjay Sunita Vikram
Chen Hiroshi Jun Kenji Li Ming Wei Yuki
"""

# Given names that are also ordinary words; alone they are weak evidence of a person.
_AMBIGUOUS_GIVEN_NAMES = """
Amber Art Bill Bob Chase Dawn Faith Gene Grace Hope Iris Ivy Jade Joy June Mark May Max Miles Pat Pearl Rose Ruby
Summer Sky Will
"""


def _ordered_words(text: str) -> list[str]:
    return text.split()


def _words(text: str) -> frozenset[str]:
    return frozenset(_ordered_words(text))


GIVEN_NAMES: frozenset[str] = _words(_GIVEN_NAMES)
AMBIGUOUS_GIVEN_NAMES: frozenset[str] = _words(_AMBIGUOUS_GIVEN_NAMES)

# Capitalised words that follow a given name without being a surname.
NOT_SURNAMES: frozenset[str] = _words(
    """
    The And Or But If So To From For With Please Thanks Thank Hi Hello Hey Dear Yes No Not Here There This That My
    Your Support Team Service Customer Customers Order Account Help Center Centre Street St Road Rd Avenue Ave
    Boulevard Lane Drive Way Ways Place Court Square Monday Tuesday Wednesday Thursday Friday Saturday Sunday
    January February March April June July August September October November December Und Oder Bitte Danke Hallo Et
    Ou Merci Bonjour Regards Cheers Best Kind Sincerely Cordialement Viele Gruß Grüße Salut Bonsoir Madame Monsieur
    Herr Frau
    """
)

# USPS Publication 28 street suffixes (names and common abbreviations) used in English-speaking addresses.
US_STREET_SUFFIXES: tuple[str, ...] = tuple(
    _ordered_words(
        """
        Alley Allee Aly Annex Arcade Avenue Ave Av Bayou Beach Bend Bluff Bluffs Bottom Boulevard Blvd Branch
        Bridge Brook Brooks Burg Burgs Bypass Camp Canyon Cape Causeway Center Centers Ctr Circle Circles Cir Cliff
        Cliffs Club Common Commons Corner Corners Course Court Courts Ct Cove Coves Creek Crescent Crest Crossing
        Crossroad Curve Dale Dam Divide Drive Drives Dr Estate Estates Expressway Extension Extensions Ext Fall
        Falls Ferry Field Fields Flat Flats Ford Fords Forest Forge Forges Fork Forks Fort Freeway Garden Gardens
        Gateway Glen Glens Green Greens Grove Groves Harbor Harbors Haven Heights Highway Hwy Hill Hills Hollow
        Inlet Island Islands Isle Junction Junctions Key Keys Knoll Knolls Lake Lakes Land Landing Lane Ln Light
        Lights Loaf Lock Locks Lodge Loop Mall Manor Manors Meadow Meadows Mews Mill Mills Mission Motorway Mount
        Mountain Mountains Neck Orchard Oval Overpass Park Parks Parkway Parkways Pkwy Pass Passage Path Pike Pine
        Pines Place Pl Plain Plains Plaza Point Points Port Ports Prairie Radial Ramp Ranch Rapid Rapids Rest Ridge
        Ridges River Road Roads Rd Route Row Rue Run Shoal Shoals Shore Shores Skyway Spring Springs Spur Spurs
        Square Squares Sq Station Stravenue Stream Street Streets St Summit Terrace Ter Throughway Trace Track
        Trafficway Trail Trl Trailer Tunnel Turnpike Underpass Union Unions Valley Valleys Via Viaduct View Views
        Village Villages Ville Vista Walk Walks Wall Way Ways Well Wells
        """
    )
)

# Endings of German street names ("Hauptstraße", "Gisbert-Müller-Weg", "Am Ring").
DE_STREET_ENDINGS: tuple[str, ...] = (
    "straße", "strasse", "str.", "weg", "gasse", "allee", "platz", "ring", "damm", "ufer", "chaussee", "pfad",
    "steig", "stieg", "markt", "graben", "kamp", "promenade", "zeile", "brücke",
)  # fmt: skip

# Capitalised English words that end like a German street ("During 3 days").
NOT_GERMAN_STREETS: frozenset[str] = frozenset({"During", "Spring", "String", "Bring", "Offering", "Wiring"})

# French street types ("12, rue de la Paix").
FR_STREET_TYPES: tuple[str, ...] = (
    "rue", "avenue", "av.", "boulevard", "bd", "chemin", "place", "impasse", "allée", "quai", "route", "cours",
    "passage", "square", "voie", "faubourg", "sentier", "rond-point",
)  # fmt: skip
