// classify_email MODEL.sparrow EMAIL.txt [THREADS]: the class of one e-mail, with the engine's C++ API.
// Prints "LABEL PROBABILITY" on one line. Exit 2 for a bad file or argument, as Sparrow's own tools.
#include <sparrow/engine.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    std::cerr << "usage: classify_email MODEL.sparrow EMAIL.txt [THREADS]\n";
    return 2;
  }
  try {
    std::ifstream in(argv[2], std::ios::binary);
    if (!in) throw sparrow::BadInput(std::string(argv[2]) + ": cannot read the e-mail");
    std::ostringstream email;
    email << in.rdbuf();

    sparrow::Model model = sparrow::Model::load(argv[1]);
    if (argc == 4) model.set_threads(static_cast<std::size_t>(std::strtoul(argv[3], nullptr, 10)));
    if (!model.is_text()) throw sparrow::BadInput(std::string(argv[1]) + ": not a text model");
    const sparrow::Prediction p = model.classify({email.str()}).front();
    std::cout << p.label << " " << p.probabilities[p.label_index] << "\n";
    return 0;
  } catch (const sparrow::Error& e) {
    std::cerr << "classify_email: " << e.what() << "\n";
    return e.exit_code();
  }
}
